"""Development helpers that ``make`` runs (not part of the deployed service)."""
