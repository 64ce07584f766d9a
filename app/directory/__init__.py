"""The union directory: regions, unions, employers and stations."""
