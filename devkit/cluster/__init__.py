"""Demo Kubernetes cluster served over MCP, answering from scenario YAML files."""
