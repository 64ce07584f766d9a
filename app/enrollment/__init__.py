"""Enrollment: applications, real-name checks, memberships and member cards."""
