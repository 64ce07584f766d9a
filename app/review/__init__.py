"""The officers' review: the queue, the audited detail view, decisions, transfers and deadlines."""
