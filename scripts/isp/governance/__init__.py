"""Governance records and rules: requests and decisions, breaches, suspensions, membership.
Request states are a table; a decision counts only in its agency's signed commit; reminders.
"""
