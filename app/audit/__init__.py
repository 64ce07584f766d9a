"""The append-only audit log: who did what to which object, and every view of unmasked personal data."""
