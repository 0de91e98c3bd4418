"""`python -m zcrm_async.testing`: run FakeZoho as a server process."""

import sys

from .server import main

sys.exit(main())
