"""Repository functions, one module per aggregate. Each takes the `Database` first and runs its
own short transaction, so no caller can hold a transaction open across an LLM/MCP/Slack call.
Returned rows are detached ORM objects (plain attribute access; no relationships to lazy-load).
"""
