"""Escalation of unanswered questions to the privacy inbox, one idea per module:
records.py (what an escalation is, and input checks), queries.py (the table and its
reads), leases.py (delivery leases), outbox.py (the `Outbox` that composes them),
mail.py (the message), transport.py (SMTP or a Maildir) and delivery.py (delivery
passes and the worker).
"""
