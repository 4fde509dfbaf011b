// docker-machine-driver-fake: a docker-machine driver plugin for rmachine's tests, built on
// the standard library only, speaking exactly the bytes a real plugin speaks.
package main

import (
	"rmachine.invalid/fakeplugin/fakedriver"
	"rmachine.invalid/fakeplugin/rpcdriver"
)

func main() {
	driver := fakedriver.New()
	rpcdriver.RegisterDriver(driver, driver, fakedriver.PrintAddress)
}
