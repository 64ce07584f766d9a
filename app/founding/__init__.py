"""Union founding (建会): the ledger of units that should have a union, and the cases that found one."""
