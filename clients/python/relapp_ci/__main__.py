from relapp_ci.cli import main

raise SystemExit(main())
