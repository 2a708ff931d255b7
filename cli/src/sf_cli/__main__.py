from sf_cli.main import run

run()
