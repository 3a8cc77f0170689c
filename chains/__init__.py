"""Chains of stages: from a stored alert to a finished, audited investigation.

Follow the data: `intake` (mask, store, dedupe or queue; `routing` picks the chain) ->
`worker` (claims sessions from the durable queue with a lease, heartbeats, resumes crashed
ones, answers `followups`, runs the periodic jobs) -> `runner` (stages in order, parallel
stages + synthesis, timeouts, cancel; `runbooks` resolves the runbook) -> typed `events` on
the `bus` -> sinks: `recorder` (audit trail), `terminal`, and the bot's Slack presenter.
`service.open_pipeline` wires it all for one process; `worker_main` runs a worker process.
"""
