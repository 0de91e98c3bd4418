"""`python -m zcrm_async.testing`: run FakeZoho as a server process."""

import sys

from ._server_main import main

sys.exit(main())
