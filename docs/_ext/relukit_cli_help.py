"""``.. relukit-help:: ARGS``: the ``--help`` text of ``python -m relukit ARGS``.

The command-line reference is rendered from the parser itself at build
time, so it cannot drift from the code. Without a CLI in the installed
relukit the directive says so in the page rather than failing the build.
"""

import os
import subprocess
import sys

from docutils import nodes
from docutils.parsers.rst import Directive


def help_text(args):
    """The help of ``python -m relukit *args``, or None when there is no CLI."""
    # A fixed width keeps argparse's wrapping the same on every machine.
    env = dict(os.environ, COLUMNS="76")
    result = subprocess.run(
        [sys.executable, "-m", "relukit", *args, "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if result.returncode != 0:
        return None
    return result.stdout.rstrip()


class RelukitHelp(Directive):
    optional_arguments = 1
    final_argument_whitespace = True

    def run(self):
        args = self.arguments[0].split() if self.arguments else []
        text = help_text(args)
        if text is None:
            command = " ".join(["python -m relukit", *args])
            return [
                nodes.paragraph(
                    text=f"{command} is not available in the relukit this page was built with."
                )
            ]
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def setup(app):
    app.add_directive("relukit-help", RelukitHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
