"""The command line: the only layer that reads the environment, talks to the terminal
and chooses exit codes."""
