import { connect } from "cloudflare:sockets";
import { DurableObject } from "cloudflare:workers";
export class GeminiSession extends DurableObject {}
export class RelaySession extends DurableObject {}
export class TargetHealth extends DurableObject {}
export default {
  async fetch(req: Request, env: any): Promise<Response> {
    const u = new URL(req.url);
    const port = Number(u.searchParams.get("port"));
    if (u.pathname === "/sock") {
      const s = connect({ hostname: "127.0.0.1", port });
      const w = s.writable.getWriter();
      await w.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
      const t = await new Response(s.readable).text();
      return new Response(t);
    }
    const r = await fetch(`http://127.0.0.1:${port}/`);
    return new Response(await r.text());
  },
};
