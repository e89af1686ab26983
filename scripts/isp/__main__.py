from isp.cli.main import run

run()
