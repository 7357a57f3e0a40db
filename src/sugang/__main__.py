from sugang.cli import main

main()
