"""Coverage statistics (摸清覆盖): figures rolled up along the union tree, the join funnel and the blind spots."""
