from fidelis.cli.app import main

main()
