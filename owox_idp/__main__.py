from owox_idp.cli import main

main()
