"""Adapters to MongoDB: the repository and the embedded nx-27017 child process."""
