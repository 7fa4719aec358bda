// A small typed client over the types openapi-typescript generates from the served schema
// (./schema.d.ts, written by tests/contract/test_typescript.py next to a copy of this file), as a
// web or React Native team would write one. `tsc --noEmit --strict` must accept it: the bodies,
// the answers, the discriminated request shapes and each operation's error codes are all types.
import type { components, operations, paths } from "./schema";

// The one platform API the client uses, the fetch of browsers, React Native and Node, declared
// here so that the check needs no platform's typings.
declare function fetch(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; ok: boolean; json(): Promise<unknown> }>;

type Schemas = components["schemas"];
type Method = "get" | "post" | "put" | "patch" | "delete";

// The JSON answer of an operation for a status, and its error body for a 4xx.
type Answer<Op extends keyof operations, Status extends keyof operations[Op]["responses"]> =
  operations[Op]["responses"][Status] extends { content: { "application/json": infer Body } }
    ? Body
    : never;
type ErrorCode<Op extends keyof operations, Status extends keyof operations[Op]["responses"]> =
  Answer<Op, Status> extends { code: infer Code } ? Code : never;

export class ApiError<Body extends Schemas["Error"] = Schemas["Error"]> extends Error {
  constructor(
    readonly status: number,
    readonly body: Body,
  ) {
    super(`${status} ${body.code}: ${body.detail}`);
  }
}

export class ParcelsClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  private async send<T>(
    method: Method,
    path: keyof paths | string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method: method.toUpperCase(),
      headers: {
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data: unknown = response.status === 204 ? undefined : await response.json();
    if (!response.ok) throw new ApiError(response.status, data as Schemas["Error"]);
    return data as T;
  }

  login(body: Schemas["TokenObtainPairRequest"]): Promise<Schemas["TokenObtainPair"]> {
    return this.send("post", "/api/v1/auth/token/", body);
  }

  postRequest(
    body: Schemas["RequestCreateRequest"],
    idempotencyKey: string,
  ): Promise<Answer<"delivery_requests_create", 201>> {
    return this.send("post", "/api/v1/delivery-requests/", body, {
      "Idempotency-Key": idempotencyKey,
    });
  }

  request(id: number): Promise<Answer<"delivery_requests_retrieve", 200>> {
    return this.send("get", `/api/v1/delivery-requests/${id}/`);
  }

  respond(offerId: number): Promise<Schemas["Offer"]> {
    return this.send("post", `/api/v1/offers/${offerId}/respond/`);
  }

  pickUp(
    requestId: number,
    body: Schemas["PickupInputRequest"],
  ): Promise<Answer<"desk_requests_pickup_create", 200>> {
    return this.send("post", `/api/v1/desk/requests/${requestId}/pickup/`, body);
  }

  deliver(
    requestId: number,
    body: Schemas["DeliverInputRequest"],
  ): Promise<Answer<"delivery_requests_deliver_create", 200>> {
    return this.send("post", `/api/v1/delivery-requests/${requestId}/deliver/`, body);
  }

  kpis(storeId: number): Promise<Schemas["KpiReport"]> {
    return this.send("get", `/api/v1/manager/stores/${storeId}/kpis/`);
  }
}

// The request detail is a union told apart by `audience`: each branch sees its own fields.
export function headline(request: Schemas["DeliveryRequestForViewer"]): string {
  switch (request.audience) {
    case "customer":
      return `${request.order_reference}: code ${request.delivery_code}`;
    case "driver":
      return `${request.dropoff_address}: pass ${request.pickup_code}`;
    case "offered":
      return `near ${request.dropoff_area.lat}, ${request.dropoff_area.lng}: ${request.fee_eur} €`;
    case "desk":
      return `${request.order_reference} for ${request.driver_first_name ?? "nobody yet"}`;
    case "manager":
      return `${request.order_reference} for ${request.customer_name}`;
    default: {
      const unknown: never = request;
      return unknown;
    }
  }
}

// The desk's pickup answers with the desk's shape or the manager's (or the customer's, for a
// member of the staff who bought it), never a driver's.
export function pickedUpBy(
  answer: Answer<"desk_requests_pickup_create", 200>,
): "customer" | "desk" | "manager" {
  return answer.audience;
}

// After the delivery the driver sees the offered shape (a manager who drove: the manager's).
export function deliveredAt(answer: Answer<"delivery_requests_deliver_create", 200>): string {
  return answer.audience === "offered" ? answer.dropoff_area.lat.toFixed(2) : answer.dropoff_address;
}

// Each operation's error codes are an enum the app can switch on exhaustively.
export function pickupProblem(code: ErrorCode<"desk_requests_pickup_create", 400>): string {
  switch (code) {
    case "wrong_code":
      return "That is not the code on the driver's pass.";
    case "invalid":
    case "malformed_request":
      return "Enter the six digits of the pass.";
    default: {
      const unknown: never = code;
      return unknown;
    }
  }
}

export function isLocked(error: ApiError<Answer<"desk_requests_pickup_create", 423>>): boolean {
  return error.body.code === "step_locked";
}

export function offerGone(code: ErrorCode<"offers_respond_create", 409>): boolean {
  // @ts-expect-error: a code that responding to an offer never answers with is a type error
  if (code === "wrong_code") return false;
  return code === "offer_expired" || code === "request_already_assigned";
}

export async function walk(client: ParcelsClient, storeId: number): Promise<string[]> {
  const posted = await client.postRequest(
    {
      store_id: storeId,
      order_reference: "A-1042",
      dropoff_address: "12 rue des Tilleuls, Villeurbanne",
      dropoff: { lat: 45.768, lng: 4.879 },
      contact_phone: "+33 6 12 34 56 78",
      window_start: "2026-11-25T18:00:00+01:00",
      window_end: "2026-11-25T20:00:00+01:00",
      parcels: [{ weight_kg: "24.5", volume_l: "180", longest_side_cm: 160 }],
    },
    "7f1c2d",
  );
  const lines = [posted.delivery_code, headline(await client.request(posted.id))];
  try {
    await client.pickUp(posted.id, { pickup_code: "000000" });
  } catch (error) {
    if (error instanceof ApiError) lines.push(error.body.code, ...Object.keys(error.body.fields));
  }
  const report = await client.kpis(storeId);
  lines.push(String(report.totals.postings), report.granularity);
  return lines;
}
