from affectstudio.cli import main

raise SystemExit(main())
