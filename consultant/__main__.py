from consultant.cli import main

main()
