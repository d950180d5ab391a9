import sys

from threefactors.cli import main

sys.exit(main())
