import sys

from optipfair_desktop.cli.main import main

sys.exit(main())
