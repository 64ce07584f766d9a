"""The doors onto memberships for officers: the JSON API of membership status and of closing a union."""
