import sys

from lexiflow.batch.cli import main

sys.exit(main())
