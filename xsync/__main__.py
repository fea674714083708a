from xsync.cli.main import main

raise SystemExit(main())
