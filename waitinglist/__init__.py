"""Trust data: providers, queues, positions, estimates, patient pages and updates."""
