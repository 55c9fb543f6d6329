import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { findBinary } from './binaries';

const run = promisify(execFile);

export interface RunningRgw {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A one-node Ceph cluster on loopback: one monitor, one memstore OSD (RAM only) and RGW, auth between the
 * daemons off, one S3 user with fixed keys. About 12 s on a quiet machine. Every daemon is killed on stop.
 */
export async function startRgw(): Promise<RunningRgw> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portrait-rgw-'));
  await Promise.all(['mon', 'osd', 'run'].map((sub) => mkdir(path.join(dir, sub))));
  const [monPort, rgwPort] = [await freePort(), await freePort()];
  const fsid = randomUUID();
  const conf = path.join(dir, 'ceph.conf');
  await writeFile(
    conf,
    `[global]
fsid = ${fsid}
mon host = v1:127.0.0.1:${monPort}
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
osd objectstore = memstore
memstore device bytes = 536870912
osd crush chooseleaf type = 0
run dir = ${dir}/run
log file = ${dir}/$name.log
admin socket = ${dir}/run/$name.asok
pid file = ${dir}/run/$name.pid
mon data = ${dir}/mon
osd data = ${dir}/osd
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
`,
  );
  const bin = (name: string) => findBinary(name) ?? name;
  const ceph = (name: string, args: string[]) => run(bin(name), [...args, '-c', conf], { cwd: dir, timeout: 60_000 });
  const daemons: number[] = [];
  const killAll = () => {
    for (const pid of daemons) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  };
  // The daemons fork into the background; their pid files name them for stop().
  const daemon = async (name: string, args: string[], pidName: string) => {
    await ceph(name, args);
    for (let waited = 0; waited < 10_000; waited += 100) {
      try {
        const { readFile } = await import('node:fs/promises');
        daemons.push(Number((await readFile(path.join(dir, 'run', `${pidName}.pid`), 'utf8')).trim()));
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error(`${name} wrote no pid file`);
  };
  process.on('exit', killAll);
  const accessKeyId = 'PORTRAITRGWTEST';
  const secretAccessKey = 'portrait-rgw-test-secret-0123456789';
  try {
    await run(bin('monmaptool'), ['--create', '--add', 'a', `v1:127.0.0.1:${monPort}`, '--fsid', fsid, path.join(dir, 'monmap')]);
    await ceph('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', path.join(dir, 'monmap')]);
    await daemon('ceph-mon', ['-i', 'a'], 'mon.a');
    // The OSD's uuid registered up front: an OSD that makes its own may boot into 'wrong fsid' (Ceph's manual deployment).
    const osdUuid = randomUUID();
    // A monitor that has its pid file may still be forming its quorum of one; until then commands get EPERM
    // ("problem getting command descriptions"), the more often the busier the machine. Retried, not slept on.
    for (let waited = 0; ; waited += 500) {
      try {
        await ceph('ceph', ['osd', 'create', osdUuid, '0', '--connect-timeout', '10']);
        break;
      } catch (error) {
        if (waited >= 60_000) throw error;
        await sleep(500);
      }
    }
    await ceph('ceph-osd', ['-i', '0', '--mkfs', '--osd-uuid', osdUuid]);
    // Ceph 16's OSD may send its first monitor command before its monitor client has the cluster's fsid (the
    // monitor logs 'handle_command on fsid 00000000-… != …' and answers 'wrong fsid'); the OSD then exits at
    // init having changed nothing (one start in three here, up to three in a row under load). Started again, it boots.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await daemon('ceph-osd', ['-i', '0'], 'osd.0');
        break;
      } catch (error) {
        if (attempt >= 8 || !String((error as Error).message).includes('wrong fsid')) throw error;
        await sleep(500);
      }
    }
    await daemon('radosgw', ['-n', 'client.rgw'], 'client.rgw');
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    for (let waited = 0; ; waited += 250) {
      const answered = await fetch(endpoint).then(() => true, () => false);
      if (answered) break;
      if (waited > 60_000) throw new Error('radosgw did not answer within 60 s');
      await sleep(250);
    }
    await ceph('radosgw-admin', ['user', 'create', '--uid=portrait', '--display-name=portrait', `--access-key=${accessKeyId}`, `--secret-key=${secretAccessKey}`]);
    return {
      endpoint,
      accessKeyId,
      secretAccessKey,
      async stop() {
        process.removeListener('exit', killAll);
        killAll();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    killAll();
    throw error;
  }
}
