"""Reading what the `textgru` command printed on stderr in the tests."""


def error_lines(stderr):
    """The lines of `stderr` that are not status lines (`textgru: loading
    ...`): what a failed command said about its failure."""
    return [
        line
        for line in stderr.strip().splitlines()
        if line.startswith("textgru: error") or not line.startswith("textgru: ")
    ]
