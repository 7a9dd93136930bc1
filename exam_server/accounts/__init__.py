"""Accounts: login, logout, password and phone, login lockout, staff and physician accounts."""
