"""The grants /oauth/token accepts, one module each, and the token response they share."""
