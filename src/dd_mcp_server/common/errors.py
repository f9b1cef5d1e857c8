"""The error a bad tool argument raises, before any request is sent."""


class InvalidArgument(ValueError):
    """A tool argument is unusable; the message names the argument, what was expected and an example."""

    def __init__(self, argument: str, problem: str, example: str) -> None:
        super().__init__(f"Invalid argument '{argument}': {problem}. Example: {example}")
        self.argument = argument
