"""Operating the service: Prometheus metrics, health and readiness, the in-process worker."""
