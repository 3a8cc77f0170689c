"""The investigator: LLM providers, MCP tool hub, tool loop, masking and result budgets.

Import submodules directly (`agents.investigator`, `agents.masking`, ...); this package keeps
its own import cheap so `tarsy --help` stays fast.
"""
