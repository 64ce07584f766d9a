"""Accounts and sign-in: workers by phone, officers by password, JWT sessions and roles."""
