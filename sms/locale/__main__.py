import sys

from sms.catalogues import main

sys.exit(main(sys.argv[1:]))
