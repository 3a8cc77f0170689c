"""Webhook surface: `POST /webhooks/{alertmanager,grafana,pagerduty}` and `/api/v1/alerts`."""
