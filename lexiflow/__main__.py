import sys

from lexiflow.cli import main

sys.exit(main())
