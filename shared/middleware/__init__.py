"""The middleware the factory (shared/app.py) wires around every step: a learner may skip it all."""
