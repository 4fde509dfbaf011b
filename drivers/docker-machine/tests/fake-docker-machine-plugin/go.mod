module rmachine.invalid/fakeplugin

go 1.19
