"""Settings and security helpers of the ReviewPulse service."""
