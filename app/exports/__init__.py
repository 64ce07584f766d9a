"""Spreadsheet exports of members and applications (CSV and XLSX), streamed and masked by default."""
