"""``python -m ami_client``: the ami-client command line (see ``--help``)."""

import sys

from ami_client._private.cli import main

if __name__ == "__main__":
    sys.exit(main())
