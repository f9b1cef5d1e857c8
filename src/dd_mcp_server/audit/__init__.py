"""The audit trail: a tamper-evident record of what the server was asked and answered, for auditors
and incident reviewers, and `dd-mcp-server audit verify` to check it has not been altered."""
