# CTest fixture of the Socket.IO integration test: installs socket.io-client
# (and ws) exactly as package-lock.json pins them, unless node_modules has
# them already. Run as: cmake -DNPM=<npm> -DDIR=<this folder> -P install.cmake
foreach(pkg socket.io-client ws)
  if(NOT EXISTS "${DIR}/node_modules/${pkg}/package.json")
    set(missing TRUE)
  endif()
endforeach()
if(missing)
  execute_process(
    COMMAND "${NPM}" ci --prefix "${DIR}" --no-audit --no-fund
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "npm ci --prefix ${DIR} failed (${rc})")
  endif()
endif()
