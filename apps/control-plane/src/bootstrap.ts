import 'reflect-metadata';
import { BadRequestException, INestApplication, ValidationError, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { ControlPlaneConfig } from '@berth/config';
import { MAX_SOCKET_MESSAGE_BYTES } from '@berth/contracts';
import type { ServerOptions } from 'socket.io';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { HttpExceptionFilter } from './common/http-exception.filter';
import { jsonBody } from './common/json-body';
import { TraefikNotModified } from './modules/routing/traefik-not-modified';

/** socket.io with its message limit stated where the agent can see it (MAX_SOCKET_MESSAGE_BYTES). */
class SocketAdapter extends IoAdapter {
  override createIOServer(port: number, options?: ServerOptions): unknown {
    return super.createIOServer(port, { ...options, maxHttpBufferSize: MAX_SOCKET_MESSAGE_BYTES });
  }
}

function flatten(errors: ValidationError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((m) => (m.startsWith(e.property) ? `${path}${m.slice(e.property.length)}` : `${path}: ${m}`));
    return [...own, ...flatten(e.children ?? [], path)];
  });
}

/** Builds and initialises the control plane application (used by main.ts and by tests, which listen on port 0). */
export async function createControlPlane(config: ControlPlaneConfig): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule.forRoot(config), { bufferLogs: true, bodyParser: false });
  app.useLogger(app.get(Logger));
  app.use(jsonBody);
  app.useWebSocketAdapter(new SocketAdapter(app));
  app.useGlobalFilters(new HttpExceptionFilter());
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      exceptionFactory: (errors) => new BadRequestException(flatten(errors).join('; ')),
    }),
  );
  app.enableShutdownHooks();
  const doc = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Berth')
      .setDescription('Self-hosted platform-as-a-service: apps, deployments, workers and their events.')
      .setVersion('0.1.0')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('api/docs', app, doc, { jsonDocumentUrl: 'api/docs-json' });
  // Traefik's polls that change nothing: answered ahead of Express and Socket.IO, whose request
  // listeners exist once the application is initialised (see TraefikNotModified).
  await app.init();
  app.get(TraefikNotModified).installOn(app.getHttpServer());
  return app;
}
