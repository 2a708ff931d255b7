from sf_cli.entry import run

run()
